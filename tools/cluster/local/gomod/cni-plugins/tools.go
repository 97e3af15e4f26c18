//go:build tools

// Package tools pins the CNI plugins the local cluster's network configuration uses: bridge and
// host-local wire each pod to the node's bridge, portmap serves hostPort, loopback brings up lo;
// tuning and bandwidth are the other reference plugins the calico/cni image ships.
package tools

import (
	_ "github.com/containernetworking/plugins/plugins/ipam/host-local"
	_ "github.com/containernetworking/plugins/plugins/main/bridge"
	_ "github.com/containernetworking/plugins/plugins/main/loopback"
	_ "github.com/containernetworking/plugins/plugins/meta/bandwidth"
	_ "github.com/containernetworking/plugins/plugins/meta/portmap"
	_ "github.com/containernetworking/plugins/plugins/meta/tuning"
)
