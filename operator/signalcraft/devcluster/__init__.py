"""Local Kubernetes control plane: kube-apiserver + etcd built from the Go module proxy, run on loopback."""
