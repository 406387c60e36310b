app_name = "runtime"

urlpatterns: list = []
