"""The declaration surface of a TypeScript file, read without a compiler: what a caller of the module can use.

A dependency that is not built yet has no `.d.ts`; its sources still say what it exports. This module keeps, of each
top-level `export`, what a `.d.ts` would say: a function's signature (its body becomes `;`), a class's member
signatures (method bodies and private members dropped), interfaces, types and enums verbatim, a const with its type
annotation (the initialiser dropped), re-exports verbatim; and the JSDoc right before each, which says how to call it.

It is a tokenizer and a brace-depth scanner, not a parser: strings, template literals, comments and regular
expressions are skipped whole so that their braces do not count, and a statement ends at `;`, or at a line break where
neither side continues it. Syntax it does not know is kept verbatim or dropped; nothing here raises on any input
(tests feed it every prefix of real files). `normalised` is what the API digest hashes: the same text without comments
and with whitespace, quote style, semicolons and trailing commas normalised away, so that reformatting or editing a
comment leaves it unchanged.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))"
    r"|(?P<string>'(?:[^'\\\n]|\\.)*'?|\"(?:[^\"\\\n]|\\.)*\"?)"
    r"|(?P<word>[\w$#]+)"
    r"|(?P<punct>\.\.\.|=>|\?\.|.)",
    re.DOTALL,
)
_FLAGS = re.compile(r"[A-Za-z]*")
# A `/` after these starts a regular expression, not a division.
_REGEX_AFTER_PUNCT = set("(,=:[!&|?{};+-*%<>~^") | {"=>", "..."}
_REGEX_AFTER_WORD = {"return", "typeof", "case", "do", "else", "in", "of", "new", "delete", "void", "throw", "yield"}
_REGEX_AFTER_WORD |= {"await", "instanceof"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")", "]", "}"}
# A line ending in one of these goes on (an operator, an open bracket, a keyword that needs what follows).
_CONTINUES_AFTER = set("=,([{:|&?.+-*/%<!~^") | {"=>", "...", "?."}
_CONTINUES_AFTER_WORDS = {"extends", "implements", "as", "keyof", "typeof", "new", "in", "instanceof", "satisfies"}
_CONTINUES_AFTER_WORDS |= {"is", "export", "declare", "const", "let", "var", "type", "function", "class", "interface"}
_CONTINUES_AFTER_WORDS |= {"enum", "async", "default", "abstract", "readonly", "public", "private", "protected"}
_CONTINUES_AFTER_WORDS |= {"static", "import", "return", "infer", "unique", "asserts", "override", "from"}
# A line starting with one of these continues the line before (a statement never starts with them).
_CONTINUES_BEFORE = set(".,)]}=?:|&>{+*/%") | {"=>", "?."}
_CONTINUES_BEFORE_WORDS = {"extends", "implements", "as", "satisfies", "from", "in", "instanceof", "is"}
# Before a `{` in these places the brace opens a type literal, not a function body.
_TYPE_POSITION = set(":|&,(<?=[") | {"=>"}
_TYPE_POSITION_WORDS = {"extends", "keyof", "typeof", "is", "as", "infer", "readonly", "in", "new", "asserts"}
_MEMBER_MODIFIERS = {"public", "protected", "static", "readonly", "async", "abstract", "override", "declare"}
_MEMBER_MODIFIERS |= {"accessor", "get", "set"}
_DECLARATION_KEYWORDS = {"function", "class", "interface", "type", "enum", "const", "let", "var", "namespace"}
_DECLARATION_KEYWORDS |= {"module"}
_MAX_TEMPLATE_NESTING = 32
_SHORT_INITIALISER = 80
_DATA_INITIALISER = 800
_DATA_PUNCTUATION = set("{}[],:.-;")


class Token(NamedTuple):
    """One lexical piece: kind is space, comment, string (quotes, templates, regexes), word or punct."""

    kind: str
    text: str

    @property
    def significant(self) -> bool:
        return self.kind not in ("space", "comment")


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`; an unterminated string or comment runs to its line's (file's) end, never an error."""
    tokens: list[Token] = []
    previous: Token | None = None
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "`":
            j, kind = _end_of_template(source, i, 0), "string"
        elif char == "/" and source[i + 1 : i + 2] not in ("/", "*") and _regex_may_start(previous):
            end = _end_of_regex(source, i)
            j, kind = (end, "string") if end else (i + 1, "punct")
        else:
            match = _TOKEN.match(source, i)  # its last alternative matches any character
            j, kind = (match.end(), match.lastgroup or "punct") if match else (i + 1, "punct")
        token = Token(kind, source[i:j])
        tokens.append(token)
        if kind != "space" and kind != "comment":
            previous = token
        i = j
    return tokens


def _end_of_quoted(source: str, i: int) -> int:
    quote, j, n = source[i], i + 1, len(source)
    while j < n:
        if source[j] == "\\":
            j += 2
        elif source[j] == quote:
            return j + 1
        elif source[j] == "\n":
            return j  # unterminated: the string stops at the line's end
        else:
            j += 1
    return n


def _end_of_template(source: str, i: int, nesting: int) -> int:
    j, n = i + 1, len(source)
    if nesting > _MAX_TEMPLATE_NESTING:
        return n
    while j < n:
        if source[j] == "\\":
            j += 2
        elif source[j] == "`":
            return j + 1
        elif source.startswith("${", j):
            j = _end_of_substitution(source, j + 2, nesting + 1)
        else:
            j += 1
    return n


def _end_of_substitution(source: str, j: int, nesting: int) -> int:
    depth, n = 0, len(source)
    while j < n:
        char = source[j]
        if char in "'\"":
            j = _end_of_quoted(source, j)
        elif char == "`":
            j = _end_of_template(source, j, nesting)
        elif source.startswith("/*", j):
            end = source.find("*/", j + 2)
            j = n if end < 0 else end + 2
        elif char == "{":
            depth, j = depth + 1, j + 1
        elif char == "}":
            if depth == 0:
                return j + 1
            depth, j = depth - 1, j + 1
        else:
            j += 1
    return n


def _regex_may_start(previous: Token | None) -> bool:
    if previous is None:
        return True
    if previous.kind == "punct":
        return previous.text in _REGEX_AFTER_PUNCT or previous.text == "}"
    return previous.kind == "word" and previous.text in _REGEX_AFTER_WORD


def _end_of_regex(source: str, i: int) -> int | None:
    j, n, in_class = i + 1, len(source), False
    while j < n:
        char = source[j]
        if char == "\n":
            return None
        if char == "\\":
            j += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            flags = _FLAGS.match(source, j + 1)
            return flags.end() if flags else j + 1
        j += 1
    return None


class _Scanner:
    """Token-index helpers over one file: significant neighbours, bracket matching, statement ends."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens

    def text(self, lo: int, hi: int) -> str:
        return "".join(token.text for token in self.tokens[lo:hi])

    def next_significant(self, i: int, hi: int) -> int:
        while i < hi and not self.tokens[i].significant:
            i += 1
        return i

    def previous_significant(self, i: int, lo: int) -> Token | None:
        i -= 1
        while i >= lo and not self.tokens[i].significant:
            i -= 1
        return self.tokens[i] if i >= lo else None

    def matching(self, i: int, hi: int) -> int:
        """The index of the bracket closing the one at `i` (brackets only; `hi` when unbalanced)."""
        depth = 0
        for j in range(i, hi):
            token = self.tokens[j]
            if token.kind != "punct":
                continue
            if token.text in _OPENERS:
                depth += 1
            elif token.text in _CLOSERS:
                depth -= 1
                if depth == 0:
                    return j
        return hi

    def statements(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """The [start, end) token spans of the statements between lo and hi, each starting at a significant token."""
        spans = []
        i = self.next_significant(lo, hi)
        while i < hi:
            end = max(self._statement_end(i, hi), i + 1)  # a stray closer is a statement of its own
            spans.append((i, end))
            i = self.next_significant(end, hi)
        return spans

    def _statement_end(self, start: int, hi: int) -> int:
        depth = 0
        last: Token | None = None
        for j in range(start, hi):
            token = self.tokens[j]
            if token.kind == "space" and "\n" in token.text and depth == 0 and last is not None:
                following = self.next_significant(j, hi)
                if following >= hi or not self._continues(last, self.tokens[following]):
                    return j
            if not token.significant:
                continue
            if token.kind == "punct":
                if token.text in _OPENERS:
                    depth += 1
                elif token.text in _CLOSERS:
                    if depth == 0:
                        return j  # a stray closer ends the statement (and is skipped as its own)
                    depth -= 1
                elif token.text == ";" and depth == 0:
                    return j + 1
            last = token
        return hi

    @staticmethod
    def _continues(last: Token, following: Token) -> bool:
        if last.kind == "punct" and last.text in _CONTINUES_AFTER:
            return True
        if last.kind == "word" and last.text in _CONTINUES_AFTER_WORDS:
            return True
        if following.kind == "punct":
            return following.text in _CONTINUES_BEFORE
        return following.kind == "word" and following.text in _CONTINUES_BEFORE_WORDS

    def significant_indices(self, lo: int, hi: int) -> list[int]:
        return [j for j in range(lo, hi) if self.tokens[j].significant]

    def scan_at_depth_zero(self, lo: int, hi: int):
        """Yield (index, token) of significant tokens at bracket and generic depth 0 between lo and hi."""
        round_square_curly, angle = 0, 0
        for j in range(lo, hi):
            token = self.tokens[j]
            if not token.significant:
                continue
            at_zero = round_square_curly == 0 and angle == 0
            if at_zero:
                yield j, token
            if token.kind != "punct":
                continue
            if token.text in _OPENERS:
                round_square_curly += 1
            elif token.text in _CLOSERS:
                round_square_curly = max(0, round_square_curly - 1)
            elif token.text == "<" and round_square_curly == 0:  # inside brackets a `<` may be a comparison
                angle += 1
            elif token.text == ">" and round_square_curly == 0 and angle > 0:
                angle -= 1

    def body_brace(self, lo: int, hi: int) -> int | None:
        """The `{` opening a function body after its head (generics, parameters, return type), or None."""
        seen_parameters = False
        for j, token in self.scan_at_depth_zero(lo, hi):
            if token.kind != "punct":
                continue
            if token.text == "(":
                seen_parameters = True
            elif token.text == ";":
                return None
            elif token.text == "{" and seen_parameters:
                before = self.previous_significant(j, lo)
                in_type = before is not None and (
                    (before.kind == "punct" and before.text in _TYPE_POSITION)
                    or (before.kind == "word" and before.text in _TYPE_POSITION_WORDS)
                )
                if not in_type:
                    return j
        return None

    def first_at_depth_zero(self, lo: int, hi: int, text: str) -> int | None:
        return next((j for j, token in self.scan_at_depth_zero(lo, hi) if token.text == text), None)


def surface(source: str) -> str:
    """What the file exports, as a `.d.ts` would say it (with each export's JSDoc); empty when it exports nothing."""
    scanner = _Scanner(tokenize(source))
    return _surface_between(scanner, 0, len(scanner.tokens))


def _surface_between(scanner: _Scanner, lo: int, hi: int) -> str:
    """The surface of the statements between lo and hi: a file, or a namespace's body."""
    spans = scanner.statements(lo, hi)
    locally_exported = _locally_exported_names(scanner, spans)
    parts = []
    overloaded: set[str] = set()  # functions declared by bodyless signatures: their implementation is not API
    for start, end in spans:
        words = [scanner.tokens[j].text for j in scanner.significant_indices(start, end)[:4]]
        if not words:
            continue
        function = _function_of(scanner, start, end)
        if function is not None:
            name, has_body = function
            if not has_body:
                overloaded.add(name)
            elif name in overloaded:
                continue
        if words[0] == "export":
            text = _export_surface(scanner, start, end)
        elif _declared_name(scanner, start, end) in locally_exported:
            text = _declaration_surface(scanner, start, end)
        else:
            continue
        if text:
            parts.append(_with_jsdoc(scanner, start, text))
    return "\n".join(parts)


def reexported_specifiers(source: str) -> list[str]:
    """The module specifiers of the file's top-level `export … from '…'` statements, in order."""
    scanner = _Scanner(tokenize(source))
    found = []
    for start, end in scanner.statements(0, len(scanner.tokens)):
        indices = scanner.significant_indices(start, end)
        if not indices or scanner.tokens[indices[0]].text != "export":
            continue
        words = [scanner.tokens[j] for j in indices]
        for before, after in zip(words, words[1:], strict=False):
            if before.text == "from" and after.kind == "string" and after.text[:1] in "'\"":
                found.append(after.text[1:-1])
                break
    return found


def normalised(source: str) -> str:
    """The tokens that carry meaning: no comments, canonical quotes and spacing, no `;` nor trailing commas."""
    kept = [token for token in tokenize(source) if token.significant and token.text != ";"]
    out: list[str] = []
    for index, token in enumerate(kept):
        following = kept[index + 1].text if index + 1 < len(kept) else ""
        if token.text == "," and following in ("}", ")", "]", ">"):
            continue
        text = token.text
        if token.kind == "string" and text[:1] in "'\"" and len(text) >= 2:
            inner = text[1:-1].replace("\\'", "'").replace('\\"', '"')
            text = '"' + inner + '"'
        if out and token.kind == "word" and kept[index - 1].kind == "word":
            out.append(" ")
        out.append(text)
    return "".join(out)


def _with_jsdoc(scanner: _Scanner, start: int, text: str) -> str:
    """`text` with the `/** … */` comment that stands right before the statement at `start`, if any."""
    j = start - 1
    while j >= 0 and scanner.tokens[j].kind == "space":
        j -= 1
    if j >= 0 and scanner.tokens[j].kind == "comment" and scanner.tokens[j].text.startswith("/**"):
        return scanner.tokens[j].text + "\n" + text
    return text


def _locally_exported_names(scanner: _Scanner, spans: list[tuple[int, int]]) -> set[str]:
    """Names exported by `export { a, b as c }` (no `from`) and `export default name`: their declarations count."""
    names: set[str] = set()
    for start, end in spans:
        tokens = [scanner.tokens[j] for j in scanner.significant_indices(start, end)]
        texts = [token.text for token in tokens]
        if len(texts) < 2 or texts[0] != "export" or "from" in texts:
            continue
        if texts[1] == "default" and len(texts) == 3 and tokens[2].kind == "word":
            names.add(texts[2])
        elif "{" in texts[1:3]:
            inside = texts[texts.index("{") + 1 : texts.index("}") if "}" in texts else len(texts)]
            # `a`, `b as c`, `type D`: the local name is the word that starts each entry (after an optional `type`)
            names |= {name for k, name in enumerate(inside) if (k == 0 or inside[k - 1] in (",", "type"))}
            names.discard("type")
    return names


def _declared_name(scanner: _Scanner, start: int, end: int) -> str | None:
    """The name a declaration statement declares (`f` of `export async function* f`), or None."""
    tokens = [scanner.tokens[j] for j in scanner.significant_indices(start, end)[:7]]
    for k, token in enumerate(tokens):
        if token.text in _DECLARATION_KEYWORDS and k + 1 < len(tokens):
            name = tokens[k + 2] if tokens[k + 1].text == "*" and k + 2 < len(tokens) else tokens[k + 1]
            return name.text if name.kind == "word" else None
        if token.text not in ("export", "declare", "abstract", "async", "const", "default"):
            return None
    return None


def _function_of(scanner: _Scanner, start: int, end: int) -> tuple[str, bool] | None:
    """(name, whether it has a body) when the statement declares a function, else None."""
    for j in scanner.significant_indices(start, end)[:5]:
        word = scanner.tokens[j].text
        if word == "function":
            name = _declared_name(scanner, start, end)
            return (name, scanner.body_brace(j + 1, end) is not None) if name else None
        if word not in ("export", "default", "declare", "async"):
            return None
    return None


def _export_surface(scanner: _Scanner, start: int, end: int) -> str:
    indices = scanner.significant_indices(start, end)
    texts = [scanner.tokens[j].text for j in indices]
    if len(texts) < 2 or texts[1] in ("*", "{", "=", "as", "import") or (texts[1] == "type" and texts[2:3] == ["{"]):
        return scanner.text(start, end).strip()
    if texts[1] == "default" and len(texts) >= 3 and texts[2] not in ("function", "class", "async", "abstract"):
        rest = scanner.text(indices[2], end).strip().rstrip(";")
        return f"export default {rest};" if len(rest) <= _SHORT_INITIALISER else "export default …;"
    return _declaration_surface(scanner, start, end)


def _declaration_surface(scanner: _Scanner, start: int, end: int) -> str:
    """A declaration as a `.d.ts` would show it: heads without bodies, consts without initialisers."""
    indices = scanner.significant_indices(start, end)
    for j in indices:
        word = scanner.tokens[j].text
        if word == "declare":
            return scanner.text(start, end).strip()
        if word == "function":
            body = scanner.body_brace(j + 1, end)
            return scanner.text(start, end).strip() if body is None else scanner.text(start, body).rstrip() + ";"
        if word == "class":
            return _class_surface(scanner, start, j, end)
        if word in ("const", "let", "var") and not _is_const_enum(scanner, j, end):
            return _variable_surface(scanner, start, j, end)
        if word in ("namespace", "module"):
            return _namespace_surface(scanner, start, j, end)
        if word in ("interface", "type", "enum"):
            return scanner.text(start, end).strip()
        if word not in ("export", "default", "abstract", "async", "const"):
            break
    return scanner.text(start, end).strip()


def _namespace_surface(scanner: _Scanner, start: int, keyword: int, end: int) -> str:
    """`export namespace N { … }` with the surface of its body (only its own exports are visible outside)."""
    brace = scanner.first_at_depth_zero(keyword + 1, end, "{")
    if brace is None:
        return scanner.text(start, end).strip()
    close = scanner.matching(brace, end)
    inner = _surface_between(scanner, brace + 1, close)
    body = "".join("  " + line + "\n" if line else "\n" for line in inner.splitlines())
    return scanner.text(start, brace + 1).strip() + "\n" + body + "}"


def _is_const_enum(scanner: _Scanner, j: int, end: int) -> bool:
    following = scanner.next_significant(j + 1, end)
    return following < end and scanner.tokens[following].text == "enum"


def _class_surface(scanner: _Scanner, start: int, keyword: int, end: int) -> str:
    brace = scanner.first_at_depth_zero(keyword + 1, end, "{")
    if brace is None:
        return scanner.text(start, end).strip()
    close = scanner.matching(brace, end)
    members = []
    for member_start, member_end in scanner.statements(brace + 1, close):
        text = _member_surface(scanner, member_start, member_end)
        if text:
            members.append("  " + _with_jsdoc(scanner, member_start, text).replace("\n", "\n  "))
    head = scanner.text(start, brace + 1).strip()
    return head + "\n" + "".join(member + "\n" for member in members) + "}"


def _member_surface(scanner: _Scanner, start: int, end: int) -> str:
    """A class member's signature: methods lose their bodies, properties their initialisers; private ones vanish."""
    start = _after_decorators(scanner, start, end)
    indices = scanner.significant_indices(start, end)
    tokens = [scanner.tokens[j] for j in indices]
    if not tokens or tokens[0].text in ("private", "}", ";") or tokens[0].text.startswith("#"):
        return ""
    k = 0
    while k < len(tokens) and tokens[k].text in _MEMBER_MODIFIERS | {"*"} and _is_modifier(tokens, k):
        k += 1
    if k >= len(tokens) or tokens[k].text.startswith("#"):
        return ""
    if tokens[k].text == "{":
        return ""  # a `static { … }` initialisation block
    name_end = scanner.matching(indices[k], end) + 1 if tokens[k].text == "[" else indices[k] + 1
    after_name = scanner.next_significant(name_end, end)
    if after_name < end and scanner.tokens[after_name].text in ("?", "!"):
        after_name = scanner.next_significant(after_name + 1, end)
    if after_name < end and scanner.tokens[after_name].text in ("(", "<"):
        body = scanner.body_brace(after_name, end)
        text = scanner.text(start, end if body is None else body).strip()
        return text if text.endswith(";") else text + ";"
    return _without_initialiser(scanner, start, end)


def _after_decorators(scanner: _Scanner, start: int, end: int) -> int:
    """The first token after the member's decorators (`@Input() name` → `name`): they are not its signature."""
    i = scanner.next_significant(start, end)
    while i < end and scanner.tokens[i].text == "@":
        i = scanner.next_significant(i + 1, end)
        while i < end and (scanner.tokens[i].kind == "word" or scanner.tokens[i].text == "."):
            i = scanner.next_significant(i + 1, end)
        if i < end and scanner.tokens[i].text == "(":
            i = scanner.next_significant(scanner.matching(i, end) + 1, end)
    return i


def _is_modifier(tokens: list[Token], k: int) -> bool:
    """`get`, `static`… are modifiers only when a name follows (`get(): T` is a method called get)."""
    return k + 1 < len(tokens) and tokens[k + 1].text not in ("(", "<", ":", "=", ";", "?", "!")


def _variable_surface(scanner: _Scanner, start: int, keyword: int, end: int) -> str:
    """`export const a: T = …, b = …` as `export const a: T, b = …;`: annotations kept, initialisers dropped."""
    declarators, lo = [], keyword + 1
    for j, token in scanner.scan_at_depth_zero(keyword + 1, end):
        if token.text == ",":
            declarators.append((lo, j))
            lo = j + 1
    declarators.append((lo, end))
    parts = [_without_initialiser(scanner, a, b).rstrip(";") for a, b in declarators]
    return scanner.text(start, keyword + 1).strip() + " " + ", ".join(part for part in parts if part) + ";"


def _without_initialiser(scanner: _Scanner, lo: int, hi: int) -> str:
    """`name: T = init` → `name: T;`; without an annotation an arrow keeps its head, a short literal stays."""
    equals = scanner.first_at_depth_zero(lo, hi, "=")
    text = scanner.text(lo, hi).strip()
    if equals is None:
        return text if text.endswith(";") else text + ";"
    head = scanner.text(lo, equals).strip()
    if scanner.first_at_depth_zero(lo, equals, ":") is not None:
        return head + ";"
    value_start = scanner.next_significant(equals + 1, hi)
    arrow = _arrow_of(scanner, value_start, hi)
    value = scanner.text(value_start, hi).strip().rstrip(";").strip()
    if arrow is not None:
        return scanner.text(lo, arrow + 1).strip() + " …;"
    if value.startswith(("function", "async function")):
        body = scanner.body_brace(value_start, hi)
        return (scanner.text(lo, body).rstrip() if body is not None else head + " = function") + " …;"
    if len(value) <= _SHORT_INITIALISER and "\n" not in value and "=>" not in value:
        return f"{head} = {value};"
    if len(value) <= _DATA_INITIALISER and _is_literal_data(scanner, value_start, hi):
        return f"{head} = {value};"  # `{ Debug: 'debug', … } as const`: the values are the API
    return f"{head} = …;"


def _is_literal_data(scanner: _Scanner, lo: int, hi: int) -> bool:
    """Whether the value is only literals, names, objects and arrays (no call, no function, no operator)."""
    for j in scanner.significant_indices(lo, hi):
        token = scanner.tokens[j]
        if token.kind == "punct" and token.text not in _DATA_PUNCTUATION:
            return False
        if token.kind == "string" and not token.text.startswith(("'", '"')):
            return False  # a template or a regular expression
        if token.kind == "word" and token.text in ("function", "new", "class"):
            return False
    return True


def _arrow_of(scanner: _Scanner, value_start: int, hi: int) -> int | None:
    """The `=>` of an arrow function that is the whole value (`(a) => …`, `async x => …`, `<T>(a: T): T => …`)."""
    i = value_start
    if i < hi and scanner.tokens[i].text == "async":
        i = scanner.next_significant(i + 1, hi)
    if i >= hi:
        return None
    token = scanner.tokens[i]
    if token.kind == "word":
        following = scanner.next_significant(i + 1, hi)
        return following if following < hi and scanner.tokens[following].text == "=>" else None
    return scanner.first_at_depth_zero(i, hi, "=>") if token.text in ("(", "<") else None
