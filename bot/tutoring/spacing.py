"""Spaced repetition with FSRS (the `fsrs` package): a graded answer becomes a review of the
entry's card, so a question comes back when the user is about to forget it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# A score of 0-100 maps onto FSRS's four buttons: below PASS the answer was not recalled.
AGAIN_BELOW = 40
HARD_BELOW = 60
GOOD_BELOW = 85
PASS = HARD_BELOW
RATINGS = ("again", "hard", "good", "easy")  # FSRS's ratings 1-4, by the names /rate takes


def rating_for(score: int) -> int:
    """FSRS rating (1 Again, 2 Hard, 3 Good, 4 Easy) for a score of 0-100."""
    if score < AGAIN_BELOW:
        return 1
    if score < HARD_BELOW:
        return 2
    if score < GOOD_BELOW:
        return 3
    return 4


class Spacing:
    """Schedules a card's next review from its previous state and a score."""

    def __init__(self, *, desired_retention: float = 0.9, fuzz: bool = True) -> None:
        from fsrs import Scheduler

        self.scheduler: Any = Scheduler(desired_retention=desired_retention, enable_fuzzing=fuzz)

    def schedule(
        self, card_json: str | None, score: int, at: datetime | None = None
    ) -> tuple[str, datetime]:
        """The card after this review (as JSON) and when it is next due."""
        return self.rate(card_json, rating_for(score), at)

    def rate(
        self, card_json: str | None, rating: int, at: datetime | None = None
    ) -> tuple[str, datetime]:
        """The card after a review with an explicit FSRS rating (1-4), and when it is next due."""
        from fsrs import Card, Rating

        card = Card.from_json(card_json) if card_json else Card()
        card, _ = self.scheduler.review_card(card, Rating(rating), at)
        return card.to_json(), card.due
