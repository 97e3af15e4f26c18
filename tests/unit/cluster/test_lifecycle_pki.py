"""The cluster PKI: SANs, identities, usages, signatures and file modes (no cluster needed)."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.cluster.local import kubeconfig, pki, settings

NODE_IP = "10.152.182.1"
NODES = settings.nodes(2, NODE_IP)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.generate(tmp_path_factory.mktemp("pki"), NODE_IP, NODES)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(ext.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}
    return dns, ips


def test_apiserver_certificate_names_every_way_in(bundle: pki.Pki) -> None:
    dns, ips = _sans(_load(bundle.cert("apiserver")))
    assert ips == {"127.0.0.1", NODE_IP, settings.KUBERNETES_SERVICE_IP}
    assert {
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{settings.CLUSTER_DOMAIN}",
        settings.NODE_NAME,
    } <= dns


def test_kubelet_serving_certificate_names_the_node(bundle: pki.Pki) -> None:
    dns, ips = _sans(_load(bundle.cert("kubelet")))
    assert ips == {NODE_IP}
    assert dns == {settings.NODE_NAME}


def test_every_node_has_its_kubelet_certificates(bundle: pki.Pki) -> None:
    """The apiserver reaches each kubelet at its node's address, and the Node authorizer knows
    each kubelet by its node's name."""
    second = NODES[1]
    assert (second.name, second.ip) == ("reseau-k8s-2", "10.152.182.2")
    dns, ips = _sans(_load(bundle.cert(pki.kubelet_cert(second))))
    assert (dns, ips) == ({second.name}, {second.ip})
    client = _load(bundle.cert(pki.kubelet_client_cert(second))).subject
    assert client.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"system:node:{second.name}"
    )
    assert pki.kubelet_cert(NODES[0]) == "kubelet"  # the first node's keep their names


@pytest.mark.parametrize(
    ("name", "common_name", "organizations"),
    [
        ("kubelet-client", f"system:node:{settings.NODE_NAME}", ["system:nodes"]),
        ("controller-manager", "system:kube-controller-manager", []),
        ("scheduler", "system:kube-scheduler", []),
        ("kube-proxy", "system:kube-proxy", []),
        ("admin", "reseau-k8s-admin", ["system:masters"]),
        ("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []),
    ],
)
def test_client_identities(
    bundle: pki.Pki, name: str, common_name: str, organizations: list[str]
) -> None:
    cert = _load(bundle.cert(name))
    subject = cert.subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == common_name
    orgs = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == organizations
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def test_every_certificate_is_signed_by_the_cluster_ca(bundle: pki.Pki) -> None:
    ca = _load(bundle.ca_cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for name in bundle.names:
        cert = _load(bundle.cert(name))
        cert.verify_directly_issued_by(ca)  # raises on a bad signature or issuer
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_foreign_ca_does_not_verify(bundle: pki.Pki) -> None:
    _, other_ca = pki.make_ca()
    with pytest.raises((ValueError, Exception)):
        _load(bundle.cert("apiserver")).verify_directly_issued_by(other_ca)


def test_etcd_serves_loopback_only(bundle: pki.Pki) -> None:
    dns, ips = _sans(_load(bundle.cert("etcd")))
    assert ips == {"127.0.0.1"}
    assert dns == {"localhost"}


def test_keys_are_private(bundle: pki.Pki) -> None:
    for path in bundle.directory.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    assert bundle.directory.stat().st_mode & 0o077 == 0


def test_service_account_key_pair(bundle: pki.Pki) -> None:
    assert b"PRIVATE KEY" in bundle.sa_key.read_bytes()
    assert b"PUBLIC KEY" in bundle.sa_pub.read_bytes()


def test_kubeconfigs_embed_the_identity(bundle: pki.Pki, tmp_path: Path) -> None:
    server = f"https://{NODE_IP}:{settings.APISERVER_PORT}"
    paths = kubeconfig.write_all(tmp_path, server, bundle, NODES)
    assert set(paths) == {*kubeconfig.IDENTITIES, "kubelet-reseau-k8s-2"}
    identities = {**kubeconfig.IDENTITIES, "kubelet-reseau-k8s-2": "kubelet-client-reseau-k8s-2"}
    for name, path in paths.items():
        doc = yaml.safe_load(path.read_text())
        assert doc["clusters"][0]["cluster"]["server"] == server
        ca = base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"])
        assert ca == bundle.ca_cert.read_bytes()
        cert = base64.b64decode(doc["users"][0]["user"]["client-certificate-data"])
        assert cert == bundle.cert(identities[name]).read_bytes()
        assert path.stat().st_mode & 0o077 == 0
    assert ipaddress.ip_address(NODE_IP)
