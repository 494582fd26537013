# METADATA
# title: KServe container may run as root
# description: Neither the container nor its pod sets runAsNonRoot, or one sets runAsUser 0,
#   so the model server may run as root, and an exploit in it starts with root's rights.
# scope: package
# custom:
#   id: MLS-KSERVE-RUN-AS-ROOT
#   avd_id: MLS-KSERVE-RUN-AS-ROOT
#   severity: MEDIUM
#   short_code: kserve-run-as-root
#   recommended_action: Set securityContext.runAsNonRoot to true (and runAsUser to a non-zero UID).
#   input:
#     selector:
#       - type: kubernetes
package mlsecops.kserve.root

import data.lib.mlsecops.kserve
import rego.v1

non_root(pod, container) if container.securityContext.runAsNonRoot == true

non_root(pod, container) if {
	pod.securityContext.runAsNonRoot == true
	not container.securityContext.runAsNonRoot == false
}

root_uid(pod, container) if container.securityContext.runAsUser == 0

root_uid(pod, container) if {
	pod.securityContext.runAsUser == 0
	not container.securityContext.runAsUser
}

deny contains res if {
	some [pod, container] in kserve.containers
	not non_root(pod, container)
	msg := sprintf("Container '%s' of %s does not set runAsNonRoot", [kserve.name(container), kserve.resource])
	res := result.new(msg, container)
}

deny contains res if {
	some [pod, container] in kserve.containers
	non_root(pod, container)
	root_uid(pod, container)
	msg := sprintf("Container '%s' of %s runs as UID 0", [kserve.name(container), kserve.resource])
	res := result.new(msg, container)
}
