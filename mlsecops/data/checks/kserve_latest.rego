# METADATA
# title: KServe container image is not pinned
# description: An image tagged latest, or with no tag or digest, is whatever was pushed last,
#   so the model server that runs is not the one that was reviewed and scanned.
# scope: package
# custom:
#   id: MLS-KSERVE-UNPINNED-IMAGE
#   avd_id: MLS-KSERVE-UNPINNED-IMAGE
#   severity: MEDIUM
#   short_code: kserve-unpinned-image
#   recommended_action: Pin the image by digest (image@sha256:...) or at least by a version tag.
#   input:
#     selector:
#       - type: kubernetes
package mlsecops.kserve.latest

import data.lib.mlsecops.kserve
import rego.v1

# The part after the registry's host:port, if any: its last `:` starts the tag.
unpinned(image) if endswith(image, ":latest")

unpinned(image) if {
	not contains(image, "@")
	path := regex.replace(image, "^[^/]*[.:][^/]*/", "")
	not contains(path, ":")
}

deny contains res if {
	some [_, container] in kserve.containers
	image := container.image
	unpinned(image)
	msg := sprintf("Container '%s' of %s uses image '%s'", [kserve.name(container), kserve.resource, image])
	res := result.new(msg, container)
}
