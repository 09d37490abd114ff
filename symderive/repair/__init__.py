""""Did you mean …?": small edits of a refuted claim's formula that make it hold.

The search edits the side the author wrote (never the truth the checker computed),
screens each candidate at float64 precision, and reports a hint only when the checker
itself proves or verifies the corrected claim.
"""
