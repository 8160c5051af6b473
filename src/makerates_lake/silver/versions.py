"""Transform versions: the rules that may change between reprocessings.

Silver and gold are pure functions of bronze and a transform version. A rule that
changes what gold holds gets a new version here; ``makerates reprocess
--transform-version N`` rebuilds with it and tags the snapshots ``transform-vN``, so
both versions stay readable side by side (the design document's B1 scenario).

Silver rates are never rounded in any version: they equal the provider's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from makerates_lake.silver.errors import UnknownTransformVersionError


@dataclass(frozen=True)
class TransformRules:
    """What one transform version does differently.

    Attributes:
        version: The number stored in ``transform_version``.
        cross_significant_digits: Significant digits kept in a derived cross rate
            (rounded half-even, then at most 18 decimal places).
        description: What changed in this version.
    """

    version: int
    cross_significant_digits: int
    description: str


TRANSFORM_RULES: Final = {
    1: TransformRules(1, 6, "cross rates rounded to 6 significant digits"),
    2: TransformRules(2, 12, "cross rates rounded to 12 significant digits"),
}
CURRENT_TRANSFORM_VERSION: Final = 2


def rules_for(version: int) -> TransformRules:
    """The rules of a transform version.

    Raises:
        UnknownTransformVersionError: The version is not implemented.
    """
    try:
        return TRANSFORM_RULES[version]
    except KeyError:
        raise UnknownTransformVersionError(
            "unknown transform version",
            version=version,
            known=", ".join(str(v) for v in sorted(TRANSFORM_RULES)),
        ) from None
