"""`DeleteStack` of a VPC: moto's CloudFormation cannot delete routes, route table associations,
route tables, NAT gateways, Elastic IPs, internet gateways and their attachments, or VPC
endpoints, so the VPC stays behind with a DependencyViolation; each gets its delete here.

Checked against moto 5.1.18 (moto-ext 5.1.18.post6, deploy/requirements/local-stack.lock).
Drop this file when moto's CloudFormation deletes a VPC's routes, gateways and endpoints with its stack.
"""

from moto.ec2 import models as ec2
from moto.ec2.models import elastic_ip_addresses as ec2_addresses
from moto.ec2.models import internet_gateways as ec2_internet_gateways
from moto.ec2.models import nat_gateways as ec2_nat_gateways
from moto.ec2.models import route_tables as ec2_route_tables
from moto.ec2.models import subnets as ec2_subnets
from moto.ec2.models import vpcs as ec2_vpcs
from moto.ec2.models import vpn_gateway as ec2_vpn_gateway


def ec2_backend(account_id, region_name):
    return ec2.ec2_backends[account_id][region_name]


def delete_route(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_route(self.route_table.id, self.destination_cidr_block)


def delete_association(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    table = backend.get_route_table(self.route_table_id)
    for association_id, target in list(table.associations.items()):
        if target == self.subnet_id:
            backend.disassociate_route_table(association_id)


def delete_route_table(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_route_table(self.id)


def delete_nat_gateway(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    for address in backend.addresses:
        if address.eni is self._eni:
            backend.disassociate_address(address=address.public_ip)
    backend.delete_network_interface(self._eni.id)
    backend.nat_gateways.pop(self.id, None)


def release_address(self, account_id, region_name):
    ec2_backend(account_id, region_name).release_address(address=self.public_ip)


def detach_gateway(self, account_id, region_name):
    backend = ec2_backend(account_id, region_name)
    if self.gateway_id in backend.internet_gateways:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)


def delete_internet_gateway(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_internet_gateway(self.id)


def delete_vpc_endpoint(self, account_id, region_name):
    ec2_backend(account_id, region_name).delete_vpc_endpoints([self.id])


def tolerant(delete):
    """A delete that finds its resource gone already (a dependent delete took it) succeeds."""

    def wrapper(self, account_id, region_name):
        try:
            delete(self, account_id, region_name)
        except Exception as e:
            if "NotFound" in str(getattr(e, "error_type", "")) or isinstance(e, (KeyError, IndexError)):
                return
            raise

    return wrapper


for model, delete in [
    (ec2_route_tables.Route, delete_route),
    (ec2_subnets.SubnetRouteTableAssociation, delete_association),
    (ec2_route_tables.RouteTable, delete_route_table),
    (ec2_nat_gateways.NatGateway, delete_nat_gateway),
    (ec2_addresses.ElasticAddress, release_address),
    (ec2_vpn_gateway.VPCGatewayAttachment, detach_gateway),
    (ec2_internet_gateways.InternetGateway, delete_internet_gateway),
    (ec2_vpcs.VPCEndPoint, delete_vpc_endpoint),
]:
    model.delete = tolerant(delete)
