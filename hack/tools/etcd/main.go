// Command etcd is upstream etcd's server, built from its Go module so envtest
// and the local demo cluster do not need a downloaded release tarball.
// See ../README.md and ../../control-plane.sh.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
