"""How many training and test examples each dataset source provides: the planning side refuses a
batch larger than the data before any job runs, and data.py checks the prepared arrays against them."""

TRAIN_EXAMPLES = {"usps": 7291, "digits": 1297, "mnist1d": 4000}

TEST_EXAMPLES = {"usps": 2007, "digits": 500, "mnist1d": 1000}
