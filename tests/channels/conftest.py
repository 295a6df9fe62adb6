"""Channel tests use the loopback fakes of the platforms."""

from tests.fakes.fixtures import fake_sms, fake_telegram, fake_zalo

__all__ = ["fake_sms", "fake_telegram", "fake_zalo"]
