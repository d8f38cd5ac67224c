"""Reports: results grouped over seeds with tested verdicts (verdicts), and the pipeline's
summary with its figures (summary), written by the DVC stage `report`."""
