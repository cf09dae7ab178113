"""Reports of runs: the self-contained HTML report, comparisons of runs, and the figures and formats they share."""
