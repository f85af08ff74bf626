"""The experts' config sections: how agents answer (`AppConfig.agents`) and how operator outcomes
turn into reliability (`AppConfig.feedback`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentsConfig(_Strict):
    """Which experts answer (None: selected from the scenario), retries and belief sharpness."""

    experts: list[str] | None = None  # None: select from the scenario
    # Retries of an answer out of format. Each continues the latest attempt's own sections and
    # prefills the next header (`assess.generation.repair_prefix`), so a second retry only has
    # to write what the first one still left out (on the bundled suite one retry left 2 of 35
    # answers out of format, both of the hazmat expert).
    max_retries: int = Field(default=2, ge=0, le=5)
    belief_temperature: float = Field(default=1.0, gt=0)
    # How an expert's answer becomes beliefs: the likelihood of each alternative id after its
    # own answer ("none"), or that likelihood over the same id's likelihood after a content-free
    # prompt listing the same alternatives ("content_free": removes what an id's wording and
    # place in the list alone are worth).
    belief_calibration: Literal["none", "content_free"] = "content_free"
    # Each expert also chooses one catalogue action by constrained decoding.
    catalogue_choice: bool = True


class ReliabilityConfig(_Strict):
    """How outcomes turn into reliability (`AppConfig.feedback`)."""

    use_learned: bool = True  # feed learned reliability into the coordinator's weights
    half_life_days: float = Field(default=30.0, gt=0)  # an outcome's weight halves every N days
    prior_strength: float = Field(default=4.0, gt=0)  # the prior counts as this many outcomes
