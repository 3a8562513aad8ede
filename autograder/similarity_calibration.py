"""The similarity check's calibration (written by ``python -m bench.similarity_calibration --write``; do not edit).

kgram: copydetect's noise threshold (characters of normalised code); min_chars: a pair with less answer code than
this (per student) counts as having this much; threshold: the score the report highlights, measured on the course's
independent correct answers (see bench/similarity_calibration.py), with its false-positive rate on them.
"""

CALIBRATION = {'kgram': 25,
 'min_chars': 100,
 'threshold': 0.65,
 'measured_on': '42 pairs of independent correct answer sets (147 pairs of single cells) of 6 assignments: the '
                'solution and tests/cases CORRECT',
 'highest_independent': {'assignment': 'ex06_heteroscedastic_regression',
                         'a': 'relu_layers_and_sequential_model',
                         'b': 'solution',
                         'score': 0.5084},
 'highest_independent_cell': {'assignment': 'ex06_heteroscedastic_regression',
                              'cell': 'model',
                              'a': 'relu_layers_and_sequential_model',
                              'b': 'solution',
                              'score': 0.5625},
 'false_positive_rate': 0.0,
 'false_positive_rate_cells': 0.0,
 'false_positive_upper_95': 0.0714,
 'pairs': 42,
 'cell_pairs': 147,
 'rule': 'highest independent pair + 0.10, rounded up to 0.05'}
