"""The tutoring rules the core applies: answering from the bank, grading free-text answers,
running a coding answer's tests, picking quiz questions and spacing reviews (FSRS); `prompts`
holds the language model's instructions."""
