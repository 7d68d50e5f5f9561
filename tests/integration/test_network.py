"""Containers in a network namespace the test made (network_cases.py): a server reached from the
host side of the veth, a client reaching a server there. The same cases run in VM containers
(test_vm_network.py)."""
from harness import OcelotTest
from network_cases import NetworkCases


class ContainerNetwork(NetworkCases, OcelotTest):
    pass
