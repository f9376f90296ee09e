"""The real JavaScript toolchain: `commands` runs it (npm, pnpm, yarn, tsc, vitest), `validation` judges a generated
package with it."""
from .commands import SECRET_VARIABLES, StepResult, Toolchain, detect_package_manager, is_yarn_berry, trim_output
from .validation import TypeCheckResult, ValidationReport, environment_failure, type_check_between_phases, validate_package

__all__ = ["SECRET_VARIABLES", "StepResult", "Toolchain", "TypeCheckResult", "ValidationReport", "detect_package_manager", "is_yarn_berry",
           "environment_failure", "trim_output", "type_check_between_phases", "validate_package"]
