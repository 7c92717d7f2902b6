//! A tensor's `f32` buffer on the `flex` CPU backend, for code outside the
//! autodiff graph that wants one pass over plain memory instead of a chain
//! of tensor operations.
//!
//! Why: the optimizer's Adam update is about ten element-wise burn
//! operations per parameter, each allocating (and page-faulting) a new
//! tensor; on the CPU one loop over the weight, its gradient and its two
//! moments does the same arithmetic in place. A tensor that lives anywhere
//! else (CUDA, another dtype) is handed back untouched, and the caller keeps
//! its tensor path.

use burn::backend::flex::FlexTensor;
use burn::backend::{BackendTensor, DispatchKindConversion, Flex};
use burn::tensor::{DType, Device, DispatchTensor, Tensor, TensorData};

/// A dense `f32` buffer taken out of a tensor on plain `flex` (no autodiff).
/// Writing through [`FlexBuffer::values_mut`] copies first only when the
/// buffer is shared with another tensor.
pub struct FlexBuffer {
    inner: FlexTensor,
}

impl FlexBuffer {
    /// Whether `t` lives on plain `flex` as `f32`, where [`FlexBuffer::of`]
    /// takes its buffer without copying.
    pub fn is_cpu<const D: usize>(t: &Tensor<D>) -> bool {
        t.device() == Device::flex() && !t.is_autodiff() && t.dtype() == DType::F32
    }

    /// The values of `t`: its own buffer when [`FlexBuffer::is_cpu`],
    /// otherwise a copy read back from wherever it lives.
    pub fn of<const D: usize>(t: Tensor<D>) -> Self {
        let shape = t.shape();
        // Converting consumes the tensor and gives nothing back on failure;
        // the spare handle keeps it until the conversion is known to have
        // worked, and is dropped then so that the buffer is unique again.
        let spare = t.clone();
        let converted = match Self::is_cpu(&t)
            .then(|| <DispatchTensor as DispatchKindConversion<Flex>>::try_into_backend(t.into_dispatch()))
        {
            Some(Ok(BackendTensor::Float(inner))) => Some(inner),
            _ => None,
        };
        let Some(converted) = converted else {
            let values = spare
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .unwrap_or_default();
            return Self {
                inner: FlexTensor::from_data(TensorData::new(values, shape)),
            };
        };
        drop(spare);
        // A view into a larger buffer (or a strided one) is copied out, so
        // that the storage is exactly the elements in order.
        let whole = converted.as_slice::<f32>().map(<[f32]>::len) == Some(converted.storage::<f32>().len());
        let inner = if whole {
            converted
        } else {
            FlexTensor::from_data(TensorData::new(
                converted.into_data().try_into_vec::<f32>().unwrap_or_default(),
                shape,
            ))
        };
        Self { inner }
    }

    /// The elements, in row-major order.
    pub fn values(&self) -> &[f32] {
        self.inner.as_slice::<f32>().unwrap_or(&[])
    }

    /// The elements to write (copied first if another tensor shares them).
    pub fn values_mut(&mut self) -> &mut [f32] {
        self.inner.storage_mut::<f32>()
    }

    /// Back into a tensor of the shape it was taken with.
    pub fn into_tensor<const D: usize>(self) -> Tensor<D> {
        Tensor::<D>::from_primitive::<Flex>(self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flex_tensor_is_updated_in_place_and_comes_back() {
        let device = Device::flex();
        let t = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]), &device);
        assert!(FlexBuffer::is_cpu(&t));
        let mut b = FlexBuffer::of(t);
        assert_eq!(b.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        for v in b.values_mut() {
            *v *= 10.0;
        }
        let back: Tensor<2> = b.into_tensor();
        assert_eq!(back.dims(), [2, 3]);
        let values: Vec<f32> = back.into_data().try_to_vec().expect("f32");
        assert_eq!(values, vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
    }

    #[test]
    fn a_shared_buffer_is_copied_before_writing() {
        let device = Device::flex();
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device);
        let keep = t.clone();
        assert!(FlexBuffer::is_cpu(&t));
        let mut b = FlexBuffer::of(t);
        b.values_mut()[0] = 7.0;
        let kept: Vec<f32> = keep.into_data().try_to_vec().expect("f32");
        assert_eq!(kept, vec![1.0, 2.0], "the other tensor must not see the write");
        let changed: Vec<f32> = b.into_tensor::<1>().into_data().try_to_vec().expect("f32");
        assert_eq!(changed, vec![7.0, 2.0]);
    }

    #[test]
    fn a_tracked_tensor_is_read_back_as_a_copy() {
        let device = Device::flex().autodiff();
        let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 2.0], [2]), &device).require_grad();
        assert!(!FlexBuffer::is_cpu(&t), "autodiff tensors are not plain flex");
        assert_eq!(FlexBuffer::of(t).values(), &[1.0, 2.0]);
    }
}
