//go:build tools

// Package tools pins CoreDNS, whose command is the root package of its module.
package tools

import (
	_ "github.com/coredns/coredns"
)
