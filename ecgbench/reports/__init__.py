"""Everything read from a finished run: the summary and its sections, evidence, comparisons, the leaderboard."""
