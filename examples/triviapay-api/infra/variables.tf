# --- Tenancy and placement -------------------------------------------------------------

variable "tenancy_ocid" {
  description = "Tenancy OCID (the instances' dynamic group lives at the tenancy)."
  type        = string
}

variable "compartment_ocid" {
  description = "Compartment for every resource of the stack, the OCIR repository included."
  type        = string
}

variable "compartment_name" {
  description = "Name of that compartment, as IAM policy statements spell it."
  type        = string
}

variable "region" {
  description = "Region identifier, e.g. eu-frankfurt-1."
  type        = string
}

variable "home_region" {
  description = "Tenancy home region, where IAM writes go (empty: the same as region)."
  type        = string
  default     = ""
}

variable "availability_domain" {
  description = "Availability domain name for the pool (empty: the region's first AD)."
  type        = string
  default     = ""
}

variable "oci_auth" {
  description = "Provider auth: ApiKey locally, SecurityToken in CI (GitHub OIDC)."
  type        = string
  default     = "ApiKey"
}

variable "oci_config_profile" {
  description = "oci config file profile the provider reads."
  type        = string
  default     = "DEFAULT"
}

variable "name_prefix" {
  description = "Prefix of display names."
  type        = string
  default     = "triviapay"
}

# --- Network ---------------------------------------------------------------------------

variable "vcn_cidr" {
  description = "VCN address range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "public_subnet_cidr" {
  description = "Public subnet (load balancer only)."
  type        = string
  default     = "10.40.1.0/24"
}

variable "private_subnet_cidr" {
  description = "Private subnet (the pool's instances; no public IPs)."
  type        = string
  default     = "10.40.2.0/24"
}

variable "lb_ingress_cidrs" {
  description = "CIDRs allowed to reach the load balancer listener (Cloudflare's ranges)."
  type        = list(string)

  validation {
    condition     = length(var.lb_ingress_cidrs) > 0 && !contains(var.lb_ingress_cidrs, "0.0.0.0/0")
    error_message = "lb_ingress_cidrs must list the fronting proxy's ranges, not 0.0.0.0/0."
  }
}

variable "lb_listener_port" {
  description = "Listener port (HTTP: TLS ends at Cloudflare)."
  type        = number
  default     = 80
}

variable "lb_min_bandwidth_mbps" {
  description = "Flexible load balancer minimum bandwidth."
  type        = number
  default     = 10
}

variable "lb_max_bandwidth_mbps" {
  description = "Flexible load balancer maximum bandwidth."
  type        = number
  default     = 100
}

# --- The service -----------------------------------------------------------------------

variable "backend_port" {
  description = "The one port: app PORT = container port = LB backend port."
  type        = number
  default     = 8000

  validation {
    condition     = var.backend_port >= 1024 && var.backend_port <= 65535
    error_message = "backend_port must be 1024-65535 (the container runs as uid 10001)."
  }
}

variable "health_check_path" {
  description = "Readiness path the LB health checker GETs, expecting 200."
  type        = string
  default     = "/health"
}

variable "backend_set_name" {
  description = "Name of the LB backend set the pool attaches to."
  type        = string
  default     = "api-backend"
}

variable "app_log_path" {
  description = "APP_LOG_PATH: the JSON log file on the host, mounted into the container."
  type        = string
  default     = "/var/log/triviapay/app.log"
}

variable "log_source_paths" {
  description = "Files the unified agent tails (the app log; add the docker json logs)."
  type        = list(string)
  default     = ["/var/log/triviapay/app.log"]
}

variable "container_image" {
  description = "Image the first instance configuration runs; later ones come from deploys."
  type        = string
  default     = ""
}

# --- OCIR ------------------------------------------------------------------------------

variable "ocir_namespace" {
  description = "Object Storage namespace of the tenancy (OCIR namespace)."
  type        = string
}

variable "ocir_registry" {
  description = "Registry host, e.g. fra.ocir.io."
  type        = string
}

variable "ocir_repo_name" {
  description = "Repository name inside the namespace."
  type        = string
  default     = "triviapay-api"
}

# --- Compute ---------------------------------------------------------------------------

variable "instance_image_id" {
  description = "OCID of the (aarch64) platform image for the A1 shape."
  type        = string
}

variable "instance_shape" {
  description = "Compute shape (Ampere A1: arm64 images)."
  type        = string
  default     = "VM.Standard.A1.Flex"
}

variable "instance_ocpus" {
  description = "OCPUs per instance."
  type        = number
  default     = 1
}

variable "instance_memory_gbs" {
  description = "Memory per instance, GB."
  type        = number
  default     = 6
}

variable "pool_size" {
  description = "Instances in the pool (a rolling update surges to pool_size + 1)."
  type        = number
  default     = 1
}

variable "autoscaling_min" {
  description = "Autoscaling lower bound."
  type        = number
  default     = 1
}

variable "autoscaling_max" {
  description = "Autoscaling upper bound."
  type        = number
  default     = 3
}

variable "autoscaling_scale_out_cpu" {
  description = "Average CPU percent above which one instance is added."
  type        = number
  default     = 70
}

variable "autoscaling_scale_in_cpu" {
  description = "Average CPU percent below which one instance is removed."
  type        = number
  default     = 20
}

variable "db_cidrs" {
  description = "Database address ranges the API may reach on db_port (empty: none)."
  type        = list(string)
  default     = []
}

variable "db_port" {
  description = "Database port (PostgreSQL)."
  type        = number
  default     = 5432
}
