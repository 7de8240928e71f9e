"""The paper's own figures (Tables 1-4), transcribed from its text, to print beside ours.

Size in MB, accuracy in percent, Table 4 in seconds for the whole test set. The paper's Books
Intent set is proprietary; CLINC150 is our public stand-in, so those rows show the shape of the
results, not the same task.

Deliberately not here: anything computed; these are constants.
"""
PAPER = {
    "table1": {"lstm": {"adagrad": 84.90, "clr": 84.71, "calr": 86.03},
               "dan": {"adagrad": 83.20, "clr": 83.84, "calr": 84.61}},
    "sst2": {
        "lstm": {"uncompressed": (53.25, 86.03), "quant16": (30.16, 85.08), "quant8": (18.21, 85.01),
                 "lmf": {10: (48.66, 85.72), 30: (38.52, 85.68), 50: (28.45, 85.67), 70: (18.38, 85.45), 90: (6.94, 85.11)},
                 "offline_svd": {10: 85.45, 30: 84.95, 50: 84.24, 70: 83.09, 90: 82.54}},
        "dan": {"uncompressed": (52.84, 84.61), "quant16": (28.36, 83.18), "quant8": (18.13, 82.94),
                "lmf": {10: (47.29, 84.24), 30: (37.23, 83.83), 50: (27.16, 83.72), 70: (17.18, 83.67), 90: (6.21, 83.11)},
                "offline_svd": {10: 83.47, 30: 83.31, 50: 82.87, 70: 82.86, 90: 82.59}},
    },
    "clinc150": {  # the paper's Table 3, Books Intent
        "lstm": {"uncompressed": (29.34, 91.78), "quant16": (17.92, 90.16), "quant8": (10.05, 89.96),
                 "lmf": {10: (26.76, 91.71), 30: (21.69, 91.63), 50: (16.62, 91.54), 70: (10.31, 91.47), 90: (4.89, 90.94)},
                 "offline_svd": {10: 91.07, 30: 90.97, 50: 90.87, 70: 90.58, 90: 89.83}},
        "dan": {"uncompressed": (37.03, 90.18), "quant16": (25.68, 89.38), "quant8": (16.41, 88.86),
                "lmf": {10: (33.96, 90.15), 30: (29.43, 90.12), 50: (23.16, 89.47), 70: (18.21, 89.55), 90: (13.08, 89.23)},
                "offline_svd": {10: 87.35, 30: 87.34, 50: 87.14, 70: 86.15, 90: 83.72}},
    },
    "table4": {"lstm": {"lmf": {10: 10.71, 50: 9.28, 70: 9.21, 75: 9.11, 90: 8.46}, "quant16": 9.23, "quant8": 9.08},
               "dan": {"lmf": {10: 1.38, 50: 0.89, 70: 0.62, 75: 0.59, 90: 0.45}, "quant16": 0.93, "quant8": 0.62}},
}
PAPER_TABLE = {"sst2": "Table 2", "clinc150": "Table 3"}  # which of the paper's tables a dataset's results mirror
