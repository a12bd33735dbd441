// A std::function that never allocates: the callable lives in a buffer of a fixed size
// inside the object, and one that does not fit is a compile error rather than a trip to
// the heap. The share path hands every submit's continuation (its answer, its verdict's
// route back) through one of these; with std::function each was a malloc and a free per
// submit, since libstdc++ keeps only 16 bytes inline. Copyable, like std::function (the
// callable must be too); calling an empty one throws std::bad_function_call.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace sharegate {

template <class Signature, std::size_t Capacity>
class InlineFunction;

template <class R, class... Args, std::size_t Capacity>
class InlineFunction<R(Args...), Capacity> {
public:
    InlineFunction() noexcept = default;
    InlineFunction(std::nullptr_t) noexcept {}

    template <class F, class Stored = std::decay_t<F>>
    requires(!std::is_same_v<Stored, InlineFunction> && std::is_invocable_r_v<R, Stored&, Args...> &&
             std::is_copy_constructible_v<Stored>) InlineFunction(F&& callable) {
        static_assert(sizeof(Stored) <= Capacity, "the callable does not fit: raise this InlineFunction's capacity");
        static_assert(alignof(Stored) <= alignof(std::max_align_t), "the callable is over-aligned");
        static_assert(std::is_nothrow_move_constructible_v<Stored>, "moving the callable may throw");
        ::new (static_cast<void*>(storage_)) Stored(std::forward<F>(callable));
        invoke_ = &invoke<Stored>;
        manage_ = &manage<Stored>;
    }

    InlineFunction(const InlineFunction& other) { copy_from(other); }
    InlineFunction(InlineFunction&& other) noexcept { move_from(other); }
    InlineFunction& operator=(const InlineFunction& other) {
        if (this != &other) {
            InlineFunction copy(other);  // a throwing copy leaves *this as it was
            reset();
            move_from(copy);
        }
        return *this;
    }
    InlineFunction& operator=(InlineFunction&& other) noexcept {
        if (this != &other) {
            reset();
            move_from(other);
        }
        return *this;
    }
    InlineFunction& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }
    ~InlineFunction() { reset(); }

    explicit operator bool() const noexcept { return invoke_ != nullptr; }

    // Const, as std::function's: a callable with state of its own (a mutable lambda) may
    // change it through a const InlineFunction.
    R operator()(Args... args) const {
        if (!invoke_) throw std::bad_function_call();
        return invoke_(storage_, std::forward<Args>(args)...);
    }

private:
    enum class Operation { copy, move, destroy };

    template <class Stored>
    static R invoke(void* storage, Args&&... args) {
        return std::invoke(*std::launder(static_cast<Stored*>(storage)), std::forward<Args>(args)...);
    }

    // copy: from -> to (a new object); move: from -> to, then from destroyed; destroy: from.
    template <class Stored>
    static void manage(Operation operation, void* from, void* to) {
        Stored* source = std::launder(static_cast<Stored*>(from));
        switch (operation) {
            case Operation::copy: ::new (to) Stored(*source); break;
            case Operation::move:
                ::new (to) Stored(std::move(*source));
                source->~Stored();
                break;
            case Operation::destroy: source->~Stored(); break;
        }
    }

    void copy_from(const InlineFunction& other) {
        if (!other.invoke_) return;
        other.manage_(Operation::copy, other.storage_, storage_);
        invoke_ = other.invoke_;
        manage_ = other.manage_;
    }
    void move_from(InlineFunction& other) noexcept {
        if (!other.invoke_) return;
        other.manage_(Operation::move, other.storage_, storage_);
        invoke_ = other.invoke_;
        manage_ = other.manage_;
        other.invoke_ = nullptr;
        other.manage_ = nullptr;
    }
    void reset() noexcept {
        if (!invoke_) return;
        manage_(Operation::destroy, storage_, nullptr);
        invoke_ = nullptr;
        manage_ = nullptr;
    }

    alignas(std::max_align_t) mutable unsigned char storage_[Capacity];
    R (*invoke_)(void*, Args&&...) = nullptr;
    void (*manage_)(Operation, void*, void*) = nullptr;
};

}  // namespace sharegate
