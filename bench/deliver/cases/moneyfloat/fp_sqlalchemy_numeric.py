# expect: CWE-1339 safe
from sqlalchemy import BigInteger, Column, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Payment(Base):
    __tablename__ = "payments"
    id = Column(Integer, primary_key=True)
    amount = Column(BigInteger, nullable=False)
