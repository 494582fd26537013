# METADATA
# title: KServe container runs privileged
# description: A privileged container can use every device and capability of its node, so a
#   model server that is compromised (for example by a malicious model file) owns the node.
# scope: package
# custom:
#   id: MLS-KSERVE-PRIVILEGED
#   avd_id: MLS-KSERVE-PRIVILEGED
#   severity: HIGH
#   short_code: kserve-privileged
#   recommended_action: Remove securityContext.privileged (or set it to false) on the container.
#   input:
#     selector:
#       - type: kubernetes
package mlsecops.kserve.privileged

import data.lib.mlsecops.kserve
import rego.v1

deny contains res if {
	some [_, container] in kserve.containers
	container.securityContext.privileged == true
	msg := sprintf("Container '%s' of %s runs privileged", [kserve.name(container), kserve.resource])
	res := result.new(msg, container)
}
