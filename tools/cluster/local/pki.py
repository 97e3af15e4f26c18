"""The cluster's PKI: one CA per cluster, and every serving and client certificate signed by it.

ECDSA P-256 keys everywhere: every component accepts them and they are generated in
milliseconds (RSA keys would cost about a second of `up`). Client identities follow the names
Kubernetes' default RBAC bindings expect (system:kube-controller-manager, system:kube-scheduler,
system:kube-proxy, system:node:<node> in system:nodes).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.cluster.local import settings
from tools.cluster.private import write_private

VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class CertSpec:
    """What one certificate says: its file stem, subject, usages and SANs."""

    name: str
    common_name: str
    organizations: tuple[str, ...] = ()
    server: bool = False
    client: bool = False
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pki:
    """Paths of the generated files (`<dir>/<name>.crt` and `.key`)."""

    directory: Path
    names: tuple[str, ...] = field(default=())

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def sa_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.directory / "sa.pub"

    def cert(self, name: str) -> Path:
        return self.directory / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"


def apiserver_dns_names() -> tuple[str, ...]:
    """Names under which pods and the host reach the apiserver."""
    domain = settings.CLUSTER_DOMAIN
    return (
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{domain}",
        "localhost",
        settings.NODE_NAME,
    )


def kubelet_cert(node: settings.Node) -> str:
    """The name of a node's kubelet serving certificate (the first node's is `kubelet`)."""
    return "kubelet" if node.is_host else f"kubelet-{node.name}"


def kubelet_client_cert(node: settings.Node) -> str:
    """The name of a node's kubelet client certificate (its identity towards the apiserver)."""
    return "kubelet-client" if node.is_host else f"kubelet-client-{node.name}"


def _host(node_ip: str) -> list[settings.Node]:
    return [settings.Node(1, settings.NODE_NAME, node_ip)]


def cert_specs(node_ip: str, nodes: Sequence[settings.Node] = ()) -> list[CertSpec]:
    """Every certificate of the cluster (the CA and the service-account keys aside): the
    control plane's at `node_ip`, and each node's kubelet (`nodes`, the first one by default)."""
    specs = [
        CertSpec(
            "apiserver",
            "kube-apiserver",
            server=True,
            dns_names=apiserver_dns_names(),
            ip_addresses=(settings.LOOPBACK, node_ip, settings.KUBERNETES_SERVICE_IP),
        ),
        # The apiserver's identity towards kubelets (exec, logs, port-forward); bound to the
        # system:kubelet-api-admin ClusterRole once the apiserver is up.
        CertSpec("apiserver-kubelet-client", "kube-apiserver-kubelet-client", client=True),
        CertSpec("apiserver-etcd-client", "kube-apiserver-etcd-client", client=True),
        # etcd serves clients and its (single) peer with the same certificate.
        CertSpec(
            "etcd",
            "etcd",
            server=True,
            client=True,
            dns_names=("localhost",),
            ip_addresses=(settings.LOOPBACK,),
        ),
        CertSpec("admin", "reseau-k8s-admin", ("system:masters",), client=True),
        CertSpec("controller-manager", "system:kube-controller-manager", client=True),
        CertSpec("scheduler", "system:kube-scheduler", client=True),
        CertSpec("kube-proxy", "system:kube-proxy", client=True),
    ]
    for node in nodes or _host(node_ip):
        # The Node authorizer knows a kubelet by this name, and the apiserver reaches it at
        # its node's address (--kubelet-preferred-address-types=InternalIP).
        specs.append(
            CertSpec(
                kubelet_client_cert(node),
                f"system:node:{node.name}",
                ("system:nodes",),
                client=True,
            )
        )
        specs.append(
            CertSpec(
                kubelet_cert(node),
                node.name,
                server=True,
                dns_names=(node.name,),
                ip_addresses=(node.ip,),
            )
        )
    return specs


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _now() -> datetime.datetime:
    # Backdated by a minute so that a freshly started component never sees "not yet valid".
    return datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    # ECDSA keys sign; only the CA signs certificates and CRLs.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("reseau-k8s-ca")
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            _key_usage(ca=True),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    spec: CertSpec, ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """Sign a new key pair for `spec` with the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usages = []
    if spec.server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if spec.client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.common_name, spec.organizations))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(ca=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in spec.dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in spec.ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def generate(directory: Path, node_ip: str, nodes: Sequence[settings.Node] = ()) -> Pki:
    """Write the CA, every certificate of `cert_specs` and the service-account key pair."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    specs = cert_specs(node_ip, nodes)
    pki = Pki(directory, tuple(s.name for s in specs))
    ca_key, ca_cert = make_ca()
    write_private(pki.ca_key, _key_pem(ca_key))
    write_private(pki.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))
    for spec in specs:
        key, cert = issue(spec, ca_key, ca_cert)
        write_private(pki.key(spec.name), _key_pem(key))
        write_private(pki.cert(spec.name), cert.public_bytes(serialization.Encoding.PEM))
    # Service-account tokens are signed with this key (ES256) and checked with its public half.
    sa_key = ec.generate_private_key(ec.SECP256R1())
    write_private(pki.sa_key, _key_pem(sa_key))
    write_private(
        pki.sa_pub,
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )
    return pki


def load(directory: Path, node_ip: str, nodes: Sequence[settings.Node] = ()) -> Pki:
    return Pki(directory, tuple(s.name for s in cert_specs(node_ip, nodes)))
