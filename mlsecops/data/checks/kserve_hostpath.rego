# METADATA
# title: KServe pod mounts a host path
# description: A hostPath volume gives the model server the node's files; a compromised server
#   can read other pods' data or the node's credentials, or plant files on the node.
# scope: package
# custom:
#   id: MLS-KSERVE-HOSTPATH
#   avd_id: MLS-KSERVE-HOSTPATH
#   severity: MEDIUM
#   short_code: kserve-hostpath
#   recommended_action: Load models from storageUri or a PersistentVolumeClaim, not a hostPath volume.
#   input:
#     selector:
#       - type: kubernetes
package mlsecops.kserve.hostpath

import data.lib.mlsecops.kserve
import rego.v1

deny contains res if {
	some pod in kserve.pods
	some volume in pod.volumes
	volume.hostPath
	msg := sprintf("Volume '%s' of %s mounts a host path", [object.get(volume, "name", "?"), kserve.resource])
	res := result.new(msg, volume)
}
