"""Error types whose message a user can act on: each names the file, field or variable at fault."""


class PackageBuilderError(Exception):
    """Base class: the message is printed as is, without a traceback."""


class PlanError(PackageBuilderError):
    """A plan file cannot be used (names the plan file and what to add or fix)."""


class ConfigError(PackageBuilderError):
    """The config file or an environment variable is missing or wrong (names the file and field)."""


class WorkspaceError(PackageBuilderError):
    """The workspace repository is not in a state generation can safely write to."""


class ModelAnswerError(PackageBuilderError):
    """A model answer cannot be applied: malformed, truncated, or writing where the phase may not."""


class ModelCallError(PackageBuilderError):
    """The model API (or the replay cassette) did not give an answer."""


class ModelRequestRefused(ModelCallError):
    """The API refused the request itself (400 invalid_request_error, 401/403 a key it does not accept, 404 a model it
    does not have, 413 too large), or a replay cassette has no answer for it: resending it unchanged would not help."""


class PhaseFailed(PackageBuilderError):
    """A phase ended without a usable result; the state checkpoint records why."""


class PhaseDeclarationError(PackageBuilderError):
    """A phase declaration in `phases/` breaks a rule the engines rely on (names the module and the rule)."""


class ArtifactError(PackageBuilderError):
    """A stored phase artifact cannot be read back (names the file and where it was moved)."""


class BudgetExceeded(PackageBuilderError):
    """A call could cross a spending budget, so it was not made (names the budget and what is spent)."""
