"""SMS through Kannel (bearerbox + smsbox): see connectors/kannel/connector.py."""

from connectors.kannel.connector import KannelConnector

__all__ = ["KannelConnector"]
