from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import Membership, User, Workspace

admin.site.register(User, UserAdmin)
admin.site.register(Workspace)
admin.site.register(Membership)
