from django.urls import path

from tests.drf_project import views

urlpatterns = [
    path("items", views.Items.as_view()),
    path("reports", views.Reports.as_view()),
    path("catalogue", views.Catalogue.as_view()),
    path("health", views.Health.as_view()),
    path("unscoped", views.Unscoped.as_view()),
    path("me", views.Me.as_view()),
]
