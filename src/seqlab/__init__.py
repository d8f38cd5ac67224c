"""seqlab: reproducible experiments for the five sequence-learning archetypes."""
