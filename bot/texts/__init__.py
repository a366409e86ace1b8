"""Every word the tutor says: the message catalogue (`messages`, English and Chinese side by side
as data) and the language model's prompts (`prompts`). The bottom of `bot`: every layer of the
application may use it, and it imports nothing of ours."""
