//go:build tools

// Package tools pins the Calico commands the local cluster's stand-in images carry, as in the
// real calico/cni, calico/node and calico/kube-controllers images: the CNI plugin (also the
// IPAM plugin, chosen by the name it is called by) and its installer, the node agent (Felix
// and the start-up routines inside), the controllers and their health check.
package tools

import (
	_ "github.com/projectcalico/calico/cni-plugin/cmd/calico"
	_ "github.com/projectcalico/calico/cni-plugin/cmd/install"
	_ "github.com/projectcalico/calico/kube-controllers/cmd/check-status"
	_ "github.com/projectcalico/calico/kube-controllers/cmd/kube-controllers"
	_ "github.com/projectcalico/calico/node/cmd/calico-node"
)
