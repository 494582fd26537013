# The containers, volumes and pod settings of a KServe InferenceService, for the checks
# beside it. Trivy's Kubernetes checks find containers under `spec.containers` and pod
# templates (so they cover a ServingRuntime); an InferenceService keeps them under each
# component (predictor, transformer, explainer: `containers`, `model`, the framework keys),
# where they see nothing.
package lib.mlsecops.kserve

import rego.v1

components := ["predictor", "transformer", "explainer"]

# Keys of a component that hold one container spec (ModelSpec and the framework specs).
container_keys := [
	"model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface",
	"pmml", "lightgbm", "paddle",
]

# Each component's pod spec.
pods contains pod if {
	input.kind == "InferenceService"
	some name in components
	pod := input.spec[name]
}

# Each container, with the pod spec it belongs to.
containers contains [pod, container] if {
	some pod in pods
	some container in pod.containers
}

containers contains [pod, container] if {
	some pod in pods
	some key in container_keys
	container := pod[key]
	is_object(container)
}

name(container) := object.get(container, "name", "the model container")

resource := sprintf("%s '%s'", [input.kind, object.get(input.metadata, "name", "?")])
