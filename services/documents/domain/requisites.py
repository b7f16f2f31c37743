"""Requisites printed on documents and forms: the operator's own (as the seller and the
service provider) and the company's (as identity knows it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requisites:
    name: str
    inn: str
    kpp: str = ""
    ogrn: str = ""
    address: str = ""
    contract_number: str = ""
    main_number: str = ""
    email: str = ""
    bank: str = ""
    bik: str = ""
    settlement_account: str = ""
    correspondent_account: str = ""

    @property
    def inn_kpp(self) -> str:
        return f"{self.inn}/{self.kpp}" if self.kpp else self.inn


OPERATOR = Requisites(
    name='ПАО "Оператор связи"',
    inn="7740000076",
    kpp="770901001",
    ogrn="1027700149124",
    address="109147, г. Москва, ул. Марксистская, д. 4",
    email="b2b@operator.example",
    bank='ПАО "Банк"',
    bik="044525225",
    settlement_account="40702810038000000001",
    correspondent_account="30101810400000000225",
)
CHIEF = "Генеральный директор"
ACCOUNTANT = "Главный бухгалтер"
