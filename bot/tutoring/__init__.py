"""The tutoring rules the core applies: answering from the bank, grading free-text answers,
running a coding answer's tests (reading fenced code), picking quiz questions and spacing reviews
(FSRS)."""
