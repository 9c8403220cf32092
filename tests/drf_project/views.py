"""Views protected by the settings' defaults, by a scope list, and by a composed permission."""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.permissions import SAFE_METHODS, AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from authority.verify import Claims
from authority.verify.drf import HasScope


def whoami(request: Request) -> dict[str, object]:
    claims = request.auth  # what AuthorityAuthentication verified
    assert isinstance(claims, Claims)
    return {
        "sub": request.user.pk,
        "client_id": claims.client_id,
        "scopes": sorted(claims.scopes),
    }


class Items(APIView):
    required_scopes: ClassVar[dict[str, list[str]]] = {"GET": ["read"], "POST": ["write"]}

    def get(self, request: Request) -> Response:
        return Response(whoami(request))

    def post(self, request: Request) -> Response:
        return Response(whoami(request), status=201)

    def delete(self, request: Request) -> Response:  # no scope is named for DELETE
        return Response(status=204)


class Reports(APIView):
    required_scopes = ("read", "reports")

    def get(self, request: Request) -> Response:
        return Response(whoami(request))


class ReadOnly(BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return request.method in SAFE_METHODS


class Catalogue(APIView):
    """Anyone may read; writing takes a token with the write scope."""

    permission_classes = (HasScope | ReadOnly,)
    required_scopes = ("write",)

    def get(self, request: Request) -> Response:
        return Response({"authenticated": request.user.is_authenticated})

    def post(self, request: Request) -> Response:
        return Response(whoami(request), status=201)


class Health(APIView):
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        return Response({"authenticated": request.user.is_authenticated})


class Unscoped(APIView):
    """Misconfigured: HasScope with no required_scopes."""

    def get(self, request: Request) -> Response:
        return Response({})


class Me(APIView):
    """Who request.user is, as code written for Django users reads it."""

    required_scopes = ("read",)

    def get(self, request: Request) -> Response:
        user: Any = request.user  # a TokenUser, or the mapped User
        return Response(
            {
                "type": type(user).__name__,
                "pk": user.pk,
                "id": user.id,
                "username": user.get_username(),
                "email": user.email,
                "is_authenticated": user.is_authenticated,
                "is_staff": user.is_staff,
            }
        )
