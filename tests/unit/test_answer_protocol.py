"""Fast: the strict answer protocol (package_builder/generation/answer.py) and the write-allowlist globs (phase.py).

What a user relies on: nothing a model answers can land outside the package, in git's or npm's folders, or where the
phase may not write; a bad answer is refused whole, and the refusal names the path so the repair prompt can fix it.
"""

from __future__ import annotations

import pytest

import phases
from package_builder.base.errors import ModelAnswerError
from package_builder.base.globs import glob_match
from package_builder.generation.answer import ModelAnswer, parse_answer, path_problems

TESTING = phases.BY_NAME["TESTING"]
PLANNING = phases.BY_NAME["PLANNING"]
CRITICAL_FIXES = phases.BY_NAME["CRITICAL_FIXES"]  # may write src/**, tests/**, examples/**, package.json, README.md


def file_block(path: str, content: str = "x") -> str:
    return f'<file path="{path}">\n{content}\n</file>\n'


def refusal(text: str, phase=TESTING) -> str:
    with pytest.raises(ModelAnswerError) as error:
        parse_answer(text, phase)
    return str(error.value)


# --- hostile paths: refused, and the message names the path ---------------------------------------------------------

HOSTILE_PATHS = [
    pytest.param("../escape.ts", "normalised relative path", id="parent-escape"),
    pytest.param("tests/../../../etc/passwd", "normalised relative path", id="parent-escape-mid-path"),
    pytest.param("/etc/passwd", "absolute paths are not allowed", id="absolute"),
    pytest.param("//tests/a.ts", "absolute paths are not allowed", id="posix-double-slash-root"),
    pytest.param("~/.bashrc", "absolute paths are not allowed", id="home-tilde"),
    pytest.param("~", "absolute paths are not allowed", id="bare-tilde"),
    pytest.param("tests\\a.test.ts", "not a usable path", id="backslash"),
    pytest.param("tests/a\x00.ts", "not a usable path", id="nul-byte"),
    pytest.param("./tests/a.test.ts", "normalised relative path", id="dot-prefix"),
    pytest.param("tests/./a.test.ts", "normalised relative path", id="dot-segment"),
    pytest.param("tests//a.test.ts", "normalised relative path", id="double-slash"),
    pytest.param("tests/helpers/", "normalised relative path", id="trailing-slash"),
    pytest.param(".git/hooks/pre-commit", "may not write inside .git", id="git-dir"),
    pytest.param("tests/.git/config", "may not write inside .git", id="nested-git-dir"),
    pytest.param("tests/node_modules/vitest/index.js", "may not write inside node_modules", id="node-modules"),
    pytest.param(".generation-state/gen-1.json", "may not write inside .generation-state", id="state-dir"),
    pytest.param("tests/.generation-state/x.json", "may not write inside .generation-state", id="nested-state-dir"),
]
# Safe paths inside the package that TESTING does not write: refused by path_problems, dropped from an answer.
NOT_THIS_PHASES = [
    pytest.param("src/index.ts", "TESTING may only write tests/**", id="outside-allowlist"),
    pytest.param("tests", "TESTING may only write tests/**", id="the-allowed-folder-itself"),
]


@pytest.mark.parametrize("path, reason", HOSTILE_PATHS + NOT_THIS_PHASES)
def test_a_hostile_path_is_refused_by_path_problems_with_the_path_named(path, reason):
    problems = path_problems(path, TESTING)
    assert len(problems) == 1, problems
    assert problems[0].startswith(repr(path) + ":"), problems[0]
    assert reason in problems[0]


@pytest.mark.parametrize("path, reason", HOSTILE_PATHS)
def test_an_answer_writing_a_hostile_path_is_refused_whole_with_the_path(path, reason):
    text = file_block("tests/fine.test.ts") + file_block(path)
    message = refusal(text)
    assert repr(path) in message and reason in message


@pytest.mark.parametrize("path, reason", HOSTILE_PATHS)
def test_an_answer_deleting_a_hostile_path_is_refused_with_the_path(path, reason):
    message = refusal(file_block("tests/fine.test.ts") + f'<delete path="{path}"/>\n')
    assert repr(path) in message and reason in message


@pytest.mark.parametrize("path, reason", NOT_THIS_PHASES)
def test_a_block_for_a_safe_path_the_phase_does_not_write_is_dropped_with_a_note(path, reason):
    answer = parse_answer(file_block("tests/fine.test.ts") + file_block(path) + f'<delete path="{path}x"/>\n', TESTING)
    assert list(answer.files) == ["tests/fine.test.ts"] and answer.deletes == ()
    assert answer.dropped == (f"{path!r}: {reason}", f"{path + 'x'!r}: {reason}")


@pytest.mark.parametrize("path, reason", NOT_THIS_PHASES)
def test_an_answer_left_with_nothing_the_phase_writes_is_refused_with_the_reason(path, reason):
    message = refusal(file_block(path))
    assert "the answer has no file this phase may write" in message and repr(path) in message and reason in message


def test_a_file_package_builder_renders_itself_is_dropped_from_foundations_answer():
    foundation = phases.BY_NAME["FOUNDATION"]
    answer = parse_answer(file_block("package.json", "{}") + file_block("tsconfig.json", "{}"), foundation)
    assert list(answer.files) == ["package.json"]
    assert answer.dropped == ("'tsconfig.json': package-builder renders it itself",)


def test_an_empty_path_is_refused_as_unusable():
    assert path_problems("", TESTING) == ["'': not a usable path"]
    assert "not a usable path" in refusal('<file path="">\nx\n</file>\n')


def test_an_answer_writing_outside_the_package_is_refused_with_the_path():
    message = refusal(file_block("../other-package/src/index.ts"))
    assert "'../other-package/src/index.ts'" in message


def test_git_and_node_modules_stay_off_limits_even_to_a_phase_that_may_write_src():
    assert CRITICAL_FIXES.may_write("src/node_modules/x.js")  # the allowlist alone would let it through ...
    problems = path_problems("src/node_modules/x.js", CRITICAL_FIXES)
    assert problems == ["'src/node_modules/x.js': may not write inside node_modules"]  # ... the segment rule does not
    assert path_problems("src/.git/HEAD", CRITICAL_FIXES) == ["'src/.git/HEAD': may not write inside .git"]


def test_planning_may_only_write_the_architecture_document():
    assert path_problems("docs/architecture.md", PLANNING) == []
    message = refusal(file_block("docs/notes.md"), PLANNING)
    assert "'docs/notes.md': PLANNING may only write docs/architecture.md" in message


def test_every_phase_that_writes_files_accepts_a_path_its_allowlist_names():
    for phase in phases.PHASES:
        for pattern in phase.write_allowlist:
            concrete = pattern.replace("**", "deep/file.ts").replace("*", "file")
            assert path_problems(concrete, phase) == [], (phase.name, concrete)


def test_every_unsafe_path_in_an_answer_is_listed_not_just_the_first():
    message = refusal(file_block("/abs.ts") + file_block("tests/.git/a.ts") + '<delete path="../x"/>\n')
    for path in ("'/abs.ts'", "'tests/.git/a.ts'", "'../x'"):
        assert path in message


# --- block structure -------------------------------------------------------------------------------------------------


def test_a_path_in_two_file_blocks_is_refused_naming_the_path_and_line():
    message = refusal(file_block("tests/a.test.ts", "one") + file_block("tests/a.test.ts", "two"))
    assert "line 4: 'tests/a.test.ts' appears in more than one block" in message


def test_writing_and_deleting_the_same_path_is_refused_either_way_round():
    delete = '<delete path="tests/a.ts"/>\n'
    assert "'tests/a.ts' appears in more than one block" in refusal(file_block("tests/a.ts") + delete)
    assert "'tests/a.ts' appears in more than one block" in refusal(delete + file_block("tests/a.ts"))


def test_deleting_the_same_path_twice_is_refused():
    assert "more than one block" in refusal(file_block("tests/b.ts") + '<delete path="tests/a.ts"/>\n' * 2)


def test_a_file_block_never_closed_is_refused_with_its_line_and_path():
    message = refusal(file_block("tests/a.ts") + 'prose\n<file path="tests/b.ts">\nconst b = 1;\n')
    assert 'line 5: <file path="tests/b.ts"> is never closed' in message


def test_a_truncated_answer_does_not_keep_the_files_before_the_cut():
    with pytest.raises(ModelAnswerError):
        parse_answer(file_block("tests/a.ts") + '<file path="tests/b.ts">\npartial', TESTING)


def test_a_closing_tag_with_leading_spaces_does_not_close_the_file():
    message = refusal('<file path="tests/a.ts">\nx\n  </file>\n')
    assert "never closed" in message


def test_an_unterminated_summary_is_refused():
    message = refusal(file_block("tests/a.ts") + "<summary>\nI wrote the tests\nand then the answer stopped")
    assert "<summary> is never closed with </summary>" in message


def test_a_second_summary_is_refused_with_its_line():
    message = refusal(file_block("tests/a.ts") + "<summary>one</summary>\n<summary>two</summary>\n")
    assert "line 5: a second <summary>" in message


def test_a_second_multi_line_summary_is_refused_too():
    message = refusal("<summary>one</summary>\n" + file_block("tests/a.ts") + "<summary>\ntwo\n</summary>\n")
    assert "a second <summary>" in message


@pytest.mark.parametrize(
    "line",
    [
        "<file path='tests/a.ts'>",  # single quotes
        '<file path="tests/a.ts"> const a = 1;',  # content on the tag's line
        '  <file path="tests/a.ts">',  # indented tag
        '<file name="tests/a.ts">',  # wrong attribute
        '<delete path="tests/a.ts">',  # delete without the self-closing slash
        "</file>",  # stray close
        "  <summary>indented</summary>",  # indented summary
    ],
)
def test_a_malformed_tag_is_refused_and_quoted(line):
    message = refusal(file_block("tests/ok.ts") + line + "\n")
    assert "malformed tag" in message
    assert repr(line.strip()[:80]) in message


def test_an_answer_of_only_prose_is_refused_because_the_phase_must_write_files():
    assert 'has no <file path="..."> block' in refusal("I think the tests look fine as they are.\n")


def test_an_answer_that_only_deletes_is_accepted():
    answer = parse_answer('<delete path="tests/old.test.ts"/>\n', TESTING)
    assert answer == ModelAnswer(files={}, deletes=("tests/old.test.ts",), summary="")


def test_file_contents_keep_blank_lines_and_indentation_and_end_with_one_newline():
    content = "describe('x', () => {\n\n  it('y', () => {});\n});\n\n"
    answer = parse_answer(f'<file path="tests/x.test.ts">\n{content}</file>\n', TESTING)
    assert answer.files["tests/x.test.ts"] == content


def test_an_empty_file_block_writes_an_empty_file():
    assert parse_answer('<file path="tests/empty.ts">\n</file>\n', TESTING).files == {"tests/empty.ts": ""}


def test_windows_line_endings_in_an_answer_are_understood():
    answer = parse_answer('<file path="tests/a.ts">\r\nconst a = 1;\r\n</file>\r\n<summary>ok</summary>\r\n', TESTING)
    assert answer.files == {"tests/a.ts": "const a = 1;\n"} and answer.summary == "ok"


def test_tag_like_lines_inside_a_file_are_content_not_tags():
    body = "<summary>not a summary</summary>\n<delete path=\"../x\"/>\nconst html = '<file>';"
    answer = parse_answer(f'<file path="tests/a.ts">\n{body}\n</file>\n', TESTING)
    assert answer.files["tests/a.ts"] == body + "\n" and answer.deletes == () and answer.summary == ""


def test_a_one_line_summary_is_kept_and_prose_around_blocks_is_ignored():
    answer = parse_answer(
        "Sure! Here are the tests.\n"
        + file_block("tests/a.ts")
        + "<summary>  Added a test.  </summary>\nLet me know if you need more.\n",
        TESTING,
    )
    assert answer.summary == "Added a test." and list(answer.files) == ["tests/a.ts"]


def test_a_file_block_inside_an_open_summary_is_refused_not_silently_dropped():
    text = (
        file_block("tests/a.test.ts") + "<summary>\nWrote the tests\n" + file_block("tests/b.test.ts") + "</summary>\n"
    )
    with pytest.raises(ModelAnswerError, match=r"<summary> is never closed with </summary> before the tag on line"):
        parse_answer(text, TESTING)


def test_a_one_line_summary_followed_by_prose_is_accepted():
    answer = parse_answer(file_block("tests/a.test.ts") + "<summary>Added tests.</summary> Hope that helps!\n", TESTING)
    assert answer.summary == "Added tests." and list(answer.files) == ["tests/a.test.ts"]


# --- glob_match: the allowlist's globs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, pattern, matches",
    [
        ("src/a.ts", "src/**", True),
        ("src/deep/er/a.ts", "src/**", True),
        ("src", "src/**", False),  # the folder itself is not inside it
        ("srcx/a.ts", "src/**", False),
        ("a/b/c/x.test.ts", "**/x.test.ts", True),  # `**/` spans any number of folders ...
        ("x.test.ts", "**/x.test.ts", True),  # ... including none
        ("src/index.ts", "src/**/index.ts", True),
        ("src/a/b/index.ts", "src/**/index.ts", True),
        ("src/a/bindex.ts", "src/**/index.ts", False),
        ("src/a.ts", "src/*", True),
        ("src/a/b.ts", "src/*", False),  # `*` stays in one segment
        ("a/b", "a*b", False),
        ("a/b", "a**b", True),
        ("a.ts", "?.ts", True),
        ("ab.ts", "?.ts", False),  # `?` is exactly one character ...
        ("a/.ts", "a?.ts", False),  # ... and never a slash
        ("docs/architecture.md", "docs/architecture.md", True),
        ("docs/architectureXmd", "docs/architecture.md", False),  # `.` is literal
        ("docs/architecture.mdx", "docs/architecture.md", False),  # anchored at the end
        ("x/docs/architecture.md", "docs/architecture.md", False),  # anchored at the start
        ("src/(a)+.ts", "src/(a)+.ts", True),  # regex metacharacters are literal
        ("src/aa.ts", "src/(a)+.ts", False),
    ],
)
def test_glob_match_follows_the_allowlist_rules(path, pattern, matches):
    assert glob_match(path, pattern) is matches


def test_glob_match_gives_the_same_answer_from_its_cache():
    assert glob_match("tests/a.ts", "tests/*") is True
    assert glob_match("tests/a/b.ts", "tests/*") is False  # a second call on a cached pattern still checks the path
