# Voir les Pods et leurs IPs
microk8s kubectl get pods -o wide

# Voir les Services
microk8s kubectl get svc

# Tester le DNS (nom complet du Service kubernetes : valable depuis tout namespace)
microk8s kubectl run test --image=busybox --restart=Never -- sleep 3600
microk8s kubectl wait --for=condition=Ready pod/test --timeout=90s
microk8s kubectl exec test -- nslookup kubernetes.default.svc.cluster.local

# Voir les logs CoreDNS
microk8s kubectl logs -n kube-system -l k8s-app=kube-dns

# Créer un Pod de debug complet
microk8s kubectl run netshoot --image=nicolaka/netshoot --restart=Never -- sleep 3600
