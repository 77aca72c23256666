# The stack moved from this root into modules/stack: the same objects in state,
# under new addresses (nothing is destroyed or created). Keep until every
# environment has applied once with modules/stack.
moved {
  from = terraform_data.account_guard
  to   = module.stack.terraform_data.account_guard
}

moved {
  from = module.network
  to   = module.stack.module.network
}

moved {
  from = module.eks
  to   = module.stack.module.eks
}

moved {
  from = module.ecr
  to   = module.stack.module.ecr
}

moved {
  from = module.platform_secrets
  to   = module.stack.module.platform_secrets
}

moved {
  from = module.addons
  to   = module.stack.module.addons
}
