variable "repositories" {
  description = "Names of the ECR repositories (docker/platform.Dockerfile -> tradeplat, docker/loadgen.Dockerfile -> tradestorm-loadgen)."
  type        = list(string)
  default     = ["tradeplat", "tradestorm-loadgen"]
}

variable "keep_images" {
  description = "How many tagged images each repository keeps."
  type        = number
  default     = 50
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
