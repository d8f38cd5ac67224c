"""Use a trained model on raw inputs: `python -m seqlab.predict`, and the served model.

inputs.py turns raw inputs into the net's arrays as preprocessing did, answers.py turns
the net's outputs into answers in the user's terms, trained.py finds and loads a trained
model, files.py reads the command's input file, warnings.py says where an answer is a guess
(inputs unlike the training data).
"""
