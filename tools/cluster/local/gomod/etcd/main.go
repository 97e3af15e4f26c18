// Command etcd is upstream etcd's server command, built from the published modules.
//
// etcd's own main package lives in its repository's root module (go.etcd.io/etcd/v3), whose
// go.mod replaces every sibling module with a relative path and so cannot be built from the
// module proxy. This wrapper does what that main does: hand the arguments to etcdmain.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
