"""Helpers for the second-factor tests: current TOTP codes and enrolled users."""

import time

from django.test import Client
from django_otp.oath import TOTP

from lowbao.accounts.models import EncryptedTOTPDevice, User
from lowbao.accounts.second_factor import (
    Enrolled,
    totp_enrolment_confirm,
    totp_enrolment_start,
)
from tests.fixtures.accounts import PASSWORD


def totp_code(device: EncryptedTOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the authenticator app shows now (or ``steps_ahead`` 30-second steps later;
    the device accepts one step of drift, and never the same step twice)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def enrol(user: User) -> Enrolled:
    """Enrol ``user`` through the services, as the setup page does."""
    device = totp_enrolment_start(actor=user)
    enrolled = totp_enrolment_confirm(actor=user, token=totp_code(device))
    user.refresh_from_db()
    return enrolled


def password_login(user: User) -> Client:
    """A client that went through the real login page (password only, no force_login)."""
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return client


def verified_login(user: User, enrolled: Enrolled) -> Client:
    """Password login plus the verify step (with the next time step's code: the enrolment
    already used the current one)."""
    client = password_login(user)
    response = client.post(
        "/accounts/two-factor/verify/", {"token": totp_code(enrolled.device, steps_ahead=1)}
    )
    assert response.status_code == 302, response.content.decode()
    return client
