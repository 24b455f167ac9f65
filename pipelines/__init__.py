"""ML pipelines on the platform: train → register → deploy → promote / rollback → retrain on drift.

Small steps, each a function over a :class:`~.context.PipelineContext` (a stack's outputs, the
model, MLflow, AWS clients) and each a ``mlops-blueprint pipeline <step>`` command (:mod:`.cli`):

* :mod:`.data` — generated, versioned training data in ``datasetsBucketName``;
* :mod:`.train` — scikit-learn model, params/metrics/model and the data version logged to MLflow;
* :mod:`.registry` — MLflow registered model + SageMaker model package; the metric gate;
* :mod:`.deploy` — approval, new endpoint configurations, canary, promote, rollback;
* :mod:`.drift` / :mod:`.retrain` — the drift signal and the retraining it starts;
* :mod:`.sandbox` — all of it on one machine (moto + a real MLflow server + MLflow's model server).

Names come only from stack outputs (:mod:`.outputs`). mlflow, scikit-learn and boto3 (the
``[pipelines]`` extra) are imported inside functions: importing this package needs none of them.
"""
