"""Evaluation: what the harness measures about a generator, and the machinery that runs a measurement.

Two parts, each module in one of them. The library holds the measures plugins call (the built-in metrics, feature
spaces and adversaries, and anyone's); it imports the contracts (gan_zoo/) and itself, never the engine, so that a
plugin using a measure does not pull in a whole evaluation. The engine runs evaluations, gauntlets and tracked runs
on the library and the registry. tests/test_layers.py reads the two lists below and checks both rules.

Library:
    adversaries birthday discriminators ensemble fid_inception functional inception knn modes nn_distance quality
    resize

Engine:
    api evaluate gauntlet overlap sources tracking
"""
