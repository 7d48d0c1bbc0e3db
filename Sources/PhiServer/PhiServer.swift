@_exported import PhiGeneration
import Hummingbird
