"""The planning side: params.yaml and the cards loaded and checked, variants resolved, the job graph
and its paths, dvc.yaml and the job files handed to each job. No Keras is imported here."""
