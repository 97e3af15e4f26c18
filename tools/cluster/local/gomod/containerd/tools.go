//go:build tools

// Package tools pins the containerd commands built for the local cluster: the daemon, the runc
// shim it starts for every pod, and ctr (handy to inspect images and containers by hand).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
